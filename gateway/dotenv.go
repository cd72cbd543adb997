package gateway

import (
	"fmt"
	"io"

	"paas"
)

// readDotenv reads the .env file config:set takes on stdin when it is
// given no KEY=VALUE: never from a terminal, and never an empty one.
func readDotenv(r *request) ([]paas.EnvVar, error) {
	c := lookupCommand("config:set")
	if r.tty != nil {
		return nil, usageError(c)
	}
	data, err := io.ReadAll(io.LimitReader(r.stdin, paas.MaxDotenv+1))
	if err != nil {
		return nil, fmt.Errorf("reading the .env file: %w", err)
	}
	vars, err := paas.ParseDotenv(string(data))
	if err != nil {
		return nil, err
	}
	if len(vars) == 0 {
		if len(data) == 0 {
			return nil, usageError(c)
		}
		return nil, paas.Errorf("the .env file on stdin sets no variable")
	}
	return vars, nil
}
