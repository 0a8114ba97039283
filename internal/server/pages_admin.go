package server

// adminRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) adminRoutes() []Route { return nil }
