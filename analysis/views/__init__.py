"""The session's view models: rows, trees and series the widgets render (pure, tested without a terminal)."""
