package stack

import (
	"strings"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	var out strings.Builder
	now := time.Unix(1000, 0)
	s := newSummary(&out)
	s.now = func() time.Time { return now }
	s.shown = now
	for _, l := range []string{
		"I: Retrieving InRelease",
		"I: Checking Release signature",
		"I: Retrieving libacl1 2.3.1-3",
		"I: Validating libacl1 2.3.1-3",
		"I: Retrieving zlib1g 1:1.2.13",
		"I: Validating zlib1g 1:1.2.13",
	} {
		s.line(l)
	}
	s.tick(10 * time.Second) // nothing shown: too soon
	now = now.Add(11 * time.Second)
	s.tick(10 * time.Second)
	s.line("W: an unexpected warning")
	s.line("I: Configuring bash...")
	s.flush()
	want := `       I: Retrieving InRelease
       I: Checking Release signature
       I: Retrieving libacl1 2.3.1-3
       still working: I: Retrieving zlib1g 1:1.2.13 (2 so far)
       I: Retrieving zlib1g 1:1.2.13 (2 in all)
       W: an unexpected warning
       I: Configuring bash...
`
	if out.String() != want {
		t.Errorf("summary output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestSummaryManyLinesFewShown(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	for i := 0; i < 500; i++ {
		s.line("I: Extracting package")
	}
	s.flush()
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("500 lines of one phase shown as %d lines:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "(500 in all)") {
		t.Errorf("no count in %q", out.String())
	}
}

func TestSummaryAptOutput(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	for _, l := range strings.Split(`Reading package lists...
The following NEW packages will be installed:
  git git-man libcurl3-gnutls
  nodejs npm
Get:1 http://deb.debian.org/debian bookworm/main amd64 git-man all 1:2.39.5-0+deb12u2 [2053 kB]
Get:2 http://deb.debian.org/debian bookworm/main amd64 git amd64 1:2.39.5-0+deb12u2 [7260 kB]
Fetched 9313 kB in 1s (9000 kB/s)
Selecting previously unselected package git-man.
(Reading database ... 6000 files and directories currently installed.)
Preparing to unpack .../git-man.deb ...
Unpacking git-man (1:2.39.5-0+deb12u2) ...
Selecting previously unselected package git.
Preparing to unpack .../git.deb ...
Unpacking git (1:2.39.5-0+deb12u2) ...
Setting up git-man (1:2.39.5-0+deb12u2) ...
Setting up git (1:2.39.5-0+deb12u2) ...
E: something broke`, "\n") {
		s.line(l)
	}
	s.flush()
	want := `       Reading package lists...
       The following NEW packages will be installed:
         git git-man libcurl3-gnutls
         nodejs npm (2 in all)
       Get:1 http://deb.debian.org/debian bookworm/main amd64 git-man all 1:2.39.5-0+deb12u2 [2053 kB]
       Get:2 http://deb.debian.org/debian bookworm/main amd64 git amd64 1:2.39.5-0+deb12u2 [7260 kB] (2 in all)
       Fetched 9313 kB in 1s (9000 kB/s)
       Selecting previously unselected package git-man.
       Unpacking git (1:2.39.5-0+deb12u2) ... (2 in all)
       Setting up git-man (1:2.39.5-0+deb12u2) ...
       Setting up git (1:2.39.5-0+deb12u2) ... (2 in all)
       E: something broke
`
	if out.String() != want {
		t.Errorf("summary output:\n%s\nwant:\n%s", out.String(), want)
	}
}
