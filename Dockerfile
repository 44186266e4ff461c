# The shop as one small image: a static binary with its migrations,
# templates and static files embedded.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /shop ./cmd/shop

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /shop /shop
EXPOSE 8080
ENTRYPOINT ["/shop"]
CMD ["serve"]
