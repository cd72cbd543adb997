package gateway

import "paas"

func cmdDomains(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("domains: not implemented")
}

func cmdDomainsAdd(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("domains:add: not implemented")
}

func cmdDomainsRemove(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("domains:remove: not implemented")
}

func cmdProxy(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("proxy: not implemented")
}

func cmdProxySet(s *Server, r *request, app string, args []string) error {
	return paas.Errorf("proxy:set: not implemented")
}
