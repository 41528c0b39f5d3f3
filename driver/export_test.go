package driver

// ByteWise makes d's ISR move characters one at a time, as SerialISR does,
// with none of the bulk paths: the reference they are tested against.
func ByteWise(d *Device) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.byteWise = true
}
