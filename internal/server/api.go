package server

// apiRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) apiRoutes() []Route { return nil }
