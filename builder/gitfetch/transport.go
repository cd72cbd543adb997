package gitfetch

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/proxy"
)

// guardScheme is the proxy URL scheme under which go-git's ssh transport
// finds dialContext: a registered dialer type, not a proxy.
const guardScheme = "paas-fetch-guard"

// maxRedirects bounds the redirects of one HTTP request.
const maxRedirects = 5

var (
	installOnce sync.Once
	// httpTransport is the HTTP transport of every fetch; its idle
	// connections are closed after each, so none outlives the policy it
	// was dialled under.
	httpTransport *http.Transport
)

// installTransports makes go-git speak only https, http and ssh, each
// dialling through dialContext: the file and git transports are removed,
// HTTP goes through a client of its own (no proxy from the environment,
// redirects bounded and dialled through the same check), and ssh reads no
// ~/.ssh/config.
func installTransports() {
	installOnce.Do(func() {
		for _, scheme := range []string{"file", "git"} {
			client.InstallProtocol(scheme, nil)
		}
		httpTransport = &http.Transport{
			DialContext:            dialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    30 * time.Second,
			ResponseHeaderTimeout:  time.Minute,
			MaxResponseHeaderBytes: 1 << 20,
		}
		hc := &http.Client{
			Transport: httpTransport,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= maxRedirects {
					return errors.New("too many redirects")
				}
				if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
					return errors.New("redirect to another transport")
				}
				return nil
			},
		}
		gh := githttp.NewClient(hc)
		client.InstallProtocol("https", gh)
		client.InstallProtocol("http", gh)
		gitssh.DefaultSSHConfig = nil
		client.InstallProtocol("ssh", gitssh.NewClient(&ssh.ClientConfig{Timeout: dialTimeout}))
		proxy.RegisterDialerType(guardScheme, func(*url.URL, proxy.Dialer) (proxy.Dialer, error) {
			return guardDialer{}, nil
		})
	})
}

// sshProxy is what makes go-git's ssh transport dial through dialContext.
var sshProxy = transport.ProxyOptions{URL: guardScheme + "://dial"}

// anonymousSSH authenticates to an ssh git server with no key: paasd has
// none to give a pusher's server, and no agent or key of the host is ever
// offered. The server's host key is not checked: with no key of its own
// and no known_hosts for a pusher's server, an ssh fetch is trusted as
// much as an http:// one.
type anonymousSSH struct {
	user string
}

func (a anonymousSSH) Name() string   { return "anonymous" }
func (a anonymousSSH) String() string { return "anonymous ssh as " + a.user }

func (a anonymousSSH) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:            a.user,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         dialTimeout,
	}, nil
}

var _ gitssh.AuthMethod = anonymousSSH{}
