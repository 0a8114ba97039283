package server

// accountRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) accountRoutes() []Route { return nil }
