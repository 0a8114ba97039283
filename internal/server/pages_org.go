package server

// orgRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) orgRoutes() []Route { return nil }
