package procstat

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ListensTCP tells whether process pid has a TCP socket listening on port:
// the kernel's socket tables give the listener's inode, and the process's
// descriptors say whether one of them is that socket, so that somebody
// else listening on the port does not count.
func ListensTCP(pid, port int) (bool, error) {
	var inodes []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return false, fmt.Errorf("listening sockets: %w", err)
		}
		inodes = append(inodes, tcpListeners(b, port)...)
	}
	if len(inodes) == 0 {
		return false, nil
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("sockets of pid %d: %w", pid, err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue // closed since the listing
		}
		for _, ino := range inodes {
			if target == "socket:["+ino+"]" {
				return true, nil
			}
		}
	}
	return false, nil
}

// tcpListeners returns the inodes of the sockets in a /proc/net/tcp table
// that listen on port, on any address. A line reads
//
//	sl local_address rem_address st ... uid timeout inode ...
//
// with the local address as hex ADDR:PORT and st 0A for LISTEN.
func tcpListeners(table []byte, port int) []string {
	want := fmt.Sprintf(":%04X", port)
	var inodes []string
	for _, line := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			inodes = append(inodes, f[9])
		}
	}
	return inodes
}
