package router

import (
	"crypto/rand"
	"encoding/hex"
)

// maxRequestID bounds an inbound X-Request-Id the router keeps.
const maxRequestID = 200

// validRequestID reports whether id matches ^[A-Za-z0-9._-]{1,200}$.
func validRequestID[T string | []byte](id T) bool {
	if len(id) == 0 || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID returns the inbound id when valid, else a new random UUID.
func requestID(inbound string) string {
	if validRequestID(inbound) {
		return inbound
	}
	var s [36]byte
	return string(appendRequestID(s[:0]))
}

// appendRequestID appends a new random UUID (version 4) to dst.
func appendRequestID(dst []byte) []byte {
	var b [16]byte
	rand.Read(b[:])         // never fails
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return append(dst, s[:]...)
}
