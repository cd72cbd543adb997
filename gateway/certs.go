package gateway

import "paas"

func cmdCerts(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("certs: not implemented")
}

func cmdCertsAdd(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("certs:add: not implemented")
}

func cmdCertsRemove(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("certs:remove: not implemented")
}
