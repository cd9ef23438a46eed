package transport

import (
	"errors"
	"io"
	"strconv"
)

// MaxResponseBytes is the most the operator reads of any response body. Entra ID and
// Dataverse answers are a few kilobytes; anything larger is a misbehaving or hostile server.
const MaxResponseBytes = 1 << 20

// ErrBodyTooLarge is returned when a response body exceeds MaxResponseBytes.
var ErrBodyTooLarge = errors.New("response body exceeds " + strconv.Itoa(MaxResponseBytes) + " bytes")

// ReadBody reads r to the end, but at most MaxResponseBytes; a longer body is ErrBodyTooLarge.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return b, err
	}
	if len(b) > MaxResponseBytes {
		return b[:MaxResponseBytes], ErrBodyTooLarge
	}
	return b, nil
}

// cappedBody fails with ErrBodyTooLarge once more than MaxResponseBytes would be read.
type cappedBody struct {
	rc        io.ReadCloser
	remaining int64
}

// Read implements io.Reader.
func (b *cappedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// The cap is used up: only the end of the body is still acceptable.
		var probe [1]byte
		n, err := b.rc.Read(probe[:])
		if n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.rc.Read(p)
	b.remaining -= int64(n)
	return n, err
}

// Close implements io.Closer.
func (b *cappedBody) Close() error {
	return b.rc.Close()
}
