package server

// PluginsChanged returns a channel closed when the plugin directory watcher next finishes a
// (re)load or unload: tests wait on it instead of sleeping.
func PluginsChanged(s *Server) <-chan struct{} { return s.plugins.changes() }

// PluginReloads counts the reloads the plugin directory watcher has done.
func PluginReloads(s *Server) int { return s.plugins.reloadCount() }

// FirstSlowClient returns a channel closed when the server first disconnects a WebSocket client for
// reading too slowly: tests wait on it instead of sleeping.
func FirstSlowClient(s *Server) <-chan struct{} { return s.firstSlow }
