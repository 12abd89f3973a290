"""Tools, not product: the benchmarks and the WebSocket load client, with their commands.

Installed as a Django app only for its management commands (`bench_pipeline`, `bench_video`,
`loadtest_ws`); the product (emotions, training, accounts, fer_site) never imports it. Needs the
development requirements (scikit-image for the frames, psutil for the server's memory).
"""
