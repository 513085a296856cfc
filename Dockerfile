# Build
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p heartbeats -p hb-agent

# Run
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl tzdata openssh-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/target/release/heartbeats /usr/local/bin/heartbeats
COPY --from=build /src/target/release/hb-agent /usr/local/bin/hb-agent
ENV HB_LISTEN=0.0.0.0:5827
EXPOSE 5827
VOLUME ["/app/data"]
CMD ["heartbeats", "serve"]
