module github.com/agentfleet/fleet/examples/plugins/go-greeter

go 1.26

require github.com/agentfleet/fleet/sdk v0.0.0

replace github.com/agentfleet/fleet/sdk => ../../../sdk
