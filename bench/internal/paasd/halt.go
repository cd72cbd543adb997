package paasd

import (
	"fmt"
	"syscall"
	"time"
)

// Halt stops paasd with SIGTERM, as an operator would, and keeps its apps
// and data dir for the next Start on the same directory; paasd is killed
// when it does not exit in time.
func (s *Server) Halt() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		s.kill()
		return fmt.Errorf("paasd ignored SIGTERM for %v: killed", stopTimeout)
	}
}
