package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docker/docker/client"
)

const defaultStackImage = "paas/stack:bookworm"

// dockerReady says why the docker runtime cannot be measured, or nil when
// an engine answers and has the stack image.
func dockerReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("no Docker client: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("no Docker engine answers: %w", err)
	}
	image := os.Getenv("PAAS_STACK_IMAGE")
	if image == "" {
		image = defaultStackImage
	}
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("stack image %s missing (paasd stack:build makes it): %w", image, err)
	}
	return nil
}
