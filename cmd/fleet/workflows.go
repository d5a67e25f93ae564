package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/internal/app"
)

type workflowsCmd struct {
	List     workflowsListCmd     `cmd:"" default:"1" help:"List the workflows a run can use."`
	Validate workflowsValidateCmd `cmd:"" help:"Check workflow files: YAML, structure, graph and, unless --no-tools, tool names."`
}

type workflowsListCmd struct {
	Workflows string `help:"Directory of workflow files, added to the built-in examples." placeholder:"DIR"`
}

func (c *workflowsListCmd) Run(e *env) error {
	ws, err := app.LoadWorkflows(c.Workflows, nil)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPATTERN\tAGENTS\tDESCRIPTION")
	for _, w := range ws.List() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", w.Name, w.Pattern, len(w.Agents), w.Description)
	}
	tw.Flush()
	return err
}

type workflowsValidateCmd struct {
	Files   []string `arg:"" type:"existingfile" help:"Workflow YAML files."`
	Plugins string   `help:"Plugins directory whose tools the workflows may use (default bin/plugins)." placeholder:"DIR"`
	NoTools bool     `name:"no-tools" help:"Do not check tool names against loaded plugins."`
}

func (c *workflowsValidateCmd) Run(ctx context.Context, e *env) error {
	exists := func(string) bool { return true }
	if !c.NoTools {
		a, err := app.Open(ctx, app.Options{PluginsDir: c.Plugins, DataDir: tempDataDir(), Logger: e.log})
		if err != nil {
			return err
		}
		defer a.Close(context.Background())
		exists = a.ToolExists
	}
	var errs []error
	for _, f := range c.Files {
		w, err := workflow.Load(f)
		if err == nil {
			err = w.CheckTools(exists)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: ok (workflow %s, %s, %d agents, %d nodes)\n", f, w.Name, w.Pattern, len(w.Agents), len(w.Graph.Nodes))
	}
	return errors.Join(errs...)
}
