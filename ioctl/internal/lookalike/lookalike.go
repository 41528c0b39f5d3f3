// Package ioctl (in directory lookalike) declares a type whose printed
// name is the same as the real ioctl.BaudRate's, for the tests to check
// that ValidateInput compares types rather than their names.
package ioctl

// BaudRate looks like the real ioctl.BaudRate when printed with %T.
type BaudRate struct {
	BaudRate uint32
}
