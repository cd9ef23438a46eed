//go:build !unix

package testenv

// lockAssets is a no-op where flock is unavailable: concurrent cold builds then only waste
// time, since the script moves each finished binary into place atomically.
func lockAssets() (unlock func(), err error) { return func() {}, nil }
