"""facegate's web service: the gate decision API, the admin console, resident self-service
and the gate kiosk. ``create_app(settings)`` builds it; ``facegate serve`` runs it."""
