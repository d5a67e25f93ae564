module github.com/agentfleet/fleet/sdk

go 1.26
