package main

import (
	"context"
	"errors"
)

type serveCmd struct {
	appFlags
	Addr  string `default:"127.0.0.1:8080" help:"Address to listen on."`
	Token string `env:"FLEET_TOKEN" help:"Require this bearer token on the API and WebSocket."`
}

func (c *serveCmd) Run(ctx context.Context, e *env) error {
	return errors.New("serve: not wired yet")
}
