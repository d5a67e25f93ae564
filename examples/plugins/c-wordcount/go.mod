module github.com/agentfleet/fleet/examples/plugins/c-wordcount

go 1.26.0

require (
	github.com/agentfleet/fleet v0.0.0
	github.com/agentfleet/fleet/sdk/plugintest v0.0.0
)

require (
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

replace (
	github.com/agentfleet/fleet => ../../..
	github.com/agentfleet/fleet/sdk/plugintest => ../../../sdk/plugintest
)
