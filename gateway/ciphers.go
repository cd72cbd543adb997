package gateway

import (
	"golang.org/x/sys/cpu"

	gossh "golang.org/x/crypto/ssh"
)

// ciphers returns the ciphers the SSH server offers, nil for the library's
// defaults. A client takes the first cipher of its own list that the
// server offers, and OpenSSH lists ChaCha20-Poly1305 first, which the SSH
// library runs without assembly. Where the CPU has AES instructions the
// server offers the AES ciphers only: AES-GCM and AES-CTR run in
// hardware several times faster, which shows in bulk transfers such as
// `logs -t` under load and git pushes.
func ciphers() []string {
	if !aesHardware() {
		return nil
	}
	return []string{
		gossh.CipherAES128GCM, gossh.CipherAES256GCM,
		gossh.CipherAES128CTR, gossh.CipherAES192CTR, gossh.CipherAES256CTR,
	}
}

// aesHardware reports whether AES and carry-less multiplication (for
// GCM) run in hardware.
func aesHardware() bool {
	return (cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ) || (cpu.ARM64.HasAES && cpu.ARM64.HasPMULL)
}
