module github.com/agentfleet/fleet/plugins

go 1.26

require github.com/agentfleet/fleet/sdk v0.0.0

replace github.com/agentfleet/fleet/sdk => ../sdk
