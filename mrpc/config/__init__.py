"""The config: its types and ranges (`schema`), rules across keys (`checks`), which keys identify a run
(`identity`), the resolvers that conf/config.yaml uses, and the one way from a `_target_` node to an object."""
