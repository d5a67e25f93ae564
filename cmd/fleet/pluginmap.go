package main

import (
	"context"
	"errors"
)

type pluginMapCmd struct {
	File string `arg:"" type:"existingfile" help:"The mapper plugin's .wasm file."`
}

func (c *pluginMapCmd) Run(ctx context.Context, e *env) error {
	return errors.New("plugin map: not wired yet")
}
