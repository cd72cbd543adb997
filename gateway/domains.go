package gateway

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"paas"
)

// defaultHost is the host the app is served at under the platform domain,
// read from AppURL; "" when there is no AppURL.
func (s *Server) defaultHost(app string) string {
	if s.cfg.AppURL == nil {
		return ""
	}
	u, err := url.Parse(s.cfg.AppURL(app))
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// appHosts lists the hosts routed to app: its default host unless turned
// off, then its custom domains.
func (s *Server) appHosts(app paas.App, custom []string) []domainJSON {
	var hosts []domainJSON
	def := ""
	if !app.Proxy.NoDefaultDomain {
		def = s.defaultHost(app.Name)
	}
	if def != "" {
		hosts = append(hosts, domainJSON{Host: def, Kind: "default"})
	}
	for _, h := range custom {
		if h != def {
			hosts = append(hosts, domainJSON{Host: h, Kind: "custom", Wildcard: strings.HasPrefix(h, "*.")})
		}
	}
	return hosts
}

func cmdDomains(s *Server, r *request, name string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("domains"))
	}
	app, err := s.cfg.Platform.App(r.ctx, name)
	if err != nil {
		return err
	}
	custom, err := s.cfg.Platform.Domains(r.ctx, name)
	if err != nil {
		return err
	}
	hosts := s.appHosts(app, custom)
	if len(hosts) == 0 {
		return emptyListing(r, asJSON, fmt.Sprintf("%s has no hosts: add one with domains:add, or turn the default host on with proxy:set %s default-domain=true", name, name))
	}
	if asJSON {
		return writeJSON(r, hosts)
	}
	t := newTable("HOST", "TYPE")
	for _, h := range hosts {
		t.row(h.Host, h.Kind)
	}
	return t.write(r.stdout)
}

func cmdDomainsAdd(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("domains:add"))
	}
	host, err := s.cfg.Platform.AddDomain(r.ctx, app, args[0])
	if err != nil {
		return err
	}
	if host != args[0] && host != strings.ToLower(strings.TrimSuffix(args[0], ".")) {
		fmt.Fprintf(r.stdout, "Added %s (%s) to %s\n", host, args[0], app)
	} else {
		fmt.Fprintf(r.stdout, "Added %s to %s\n", host, app)
	}
	return nil
}

func cmdDomainsRemove(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("domains:remove"))
	}
	if err := s.cfg.Platform.RemoveDomain(r.ctx, app, args[0]); err != nil {
		return err
	}
	host := args[0]
	if h, err := paas.NormalizeDomain(host); err == nil {
		host = h
	}
	fmt.Fprintf(r.stdout, "Removed %s from %s\n", host, app)
	return nil
}

func cmdProxy(s *Server, r *request, name string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("proxy"))
	}
	app, err := s.cfg.Platform.App(r.ctx, name)
	if err != nil {
		return err
	}
	for _, l := range paas.ProxySettingLines(app.Proxy) {
		fmt.Fprintln(r.stdout, l)
	}
	return nil
}

func cmdProxySet(s *Server, r *request, app string, args []string) error {
	if len(args) == 0 {
		return usageError(lookupCommand("proxy:set"))
	}
	set := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return paas.Errorf("invalid setting %q: use KEY=VALUE with %s", a, strings.Join(paas.ProxyKeys, ", "))
		}
		if _, dup := set[k]; dup {
			return paas.Errorf("%s is given twice", k)
		}
		set[k] = v
	}
	// Every pair is checked before the platform is asked: a bad one
	// changes nothing.
	var scratch paas.ProxySettings
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if err := paas.ParseProxySetting(&scratch, k, set[k]); err != nil {
			return err
		}
	}
	p, err := s.cfg.Platform.SetProxy(r.ctx, app, set)
	if err != nil {
		return err
	}
	for _, l := range paas.ProxySettingLines(p) {
		fmt.Fprintln(r.stdout, l)
	}
	return nil
}
