module paas

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/gliderlabs/ssh v0.3.8
	go.etcd.io/bbolt v1.5.0
	golang.org/x/crypto v0.59.0
)

require (
	github.com/anmitsu/go-shlex v0.0.0-20200514113438-38f4b401e2be // indirect
	golang.org/x/sys v0.50.0 // indirect
)
