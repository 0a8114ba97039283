package server

// tagRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) tagRoutes() []Route { return nil }
