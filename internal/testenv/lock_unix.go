//go:build unix

package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockAssets takes an exclusive, machine-wide lock next to the envtest binaries' cache, so
// one process builds them while the others wait and then find them cached.
func lockAssets() (unlock func(), err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("testenv: user cache directory: %w", err)
	}
	dir := filepath.Join(cache, "d365-operator", "envtest")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("testenv: creating %s: %w", dir, err)
	}
	// G304: the path is the user's own cache directory, not input.
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600) //nolint:gosec
	if err != nil {
		return nil, fmt.Errorf("testenv: opening the build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("testenv: taking the build lock: %w", err)
	}
	// Closing the file releases the lock.
	return func() { _ = f.Close() }, nil
}
