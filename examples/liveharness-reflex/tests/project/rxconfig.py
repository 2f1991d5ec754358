import reflex as rx

config = rx.Config(
    app_name="counter", plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin()]
)
