module github.com/agentfleet/fleet/plugins

go 1.26.0

require (
	github.com/agentfleet/fleet/sdk v0.0.0
	github.com/tidwall/gjson v1.20.4
	github.com/tidwall/sjson v1.2.10
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.59.0
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)

replace github.com/agentfleet/fleet/sdk => ../sdk
