package simulator

import (
	"crypto/rand"
	"encoding/hex"
)

// newGUID returns a random (version 4) GUID, lower-case and hyphenated like Entra
// ID's trace and correlation ids.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomID returns n random bytes, base64url encoded: for uti claims, codes and
// opaque tokens.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}
