package drains

import (
	"strconv"

	"paas/logs"
)

// Syslog priorities (facility*8 + severity, RFC 5424 section 6.2.1): the
// app's own lines are facility user, the platform's local0; both severity
// info.
const (
	priApp  = 1*8 + 6
	priPaas = 16*8 + 6
)

// timeLayout is RFC 3339 in UTC with microseconds, as RFC 5424 allows.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Field limits of RFC 5424's header.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
)

// appendFrame appends l as one octet-counted (RFC 6587) RFC 5424 message:
//
//	LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// HOSTNAME is the drain's token, APP-NAME the app, PROCID the instance
// (web.1) or platform part (router, deploy), MSGID the source (app or
// paas). There is no structured data.
func appendFrame(dst []byte, l logs.Line, hostname string) []byte {
	var hdr [512]byte
	m := hdr[:0]
	m = append(m, '<')
	if l.Source == logs.SourceApp {
		m = strconv.AppendInt(m, priApp, 10)
	} else {
		m = strconv.AppendInt(m, priPaas, 10)
	}
	m = append(m, ">1 "...)
	m = l.Time.UTC().AppendFormat(m, timeLayout)
	m = append(m, ' ')
	m = appendField(m, hostname, maxHostname)
	m = append(m, ' ')
	m = appendField(m, l.App, maxAppName)
	m = append(m, ' ')
	m = appendField(m, l.Proc, maxProcID)
	m = append(m, ' ')
	m = appendField(m, l.Source, maxMsgID)
	m = append(m, " - "...)
	dst = strconv.AppendInt(dst, int64(len(m)+len(l.Text)), 10)
	dst = append(dst, ' ')
	dst = append(dst, m...)
	return append(dst, l.Text...)
}

// appendField appends s as a header field: printable US-ASCII only (other
// bytes become '_'), at most n bytes, "-" when empty.
func appendField(dst []byte, s string, n int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > n {
		s = s[:n]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}
