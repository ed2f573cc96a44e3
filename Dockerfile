# syntax=docker/dockerfile:1
# Multi-stage build of the gateway. Restore is its own cached layer: it reruns only when a project file or the
# central package versions change.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props Milvus.sln ./
COPY Milvus.Domain/Milvus.Domain.csproj Milvus.Domain/
COPY Milvus.Workers/Milvus.Workers.csproj Milvus.Workers/
COPY Milvus.Api/Milvus.Api.csproj Milvus.Api/
RUN dotnet restore Milvus.Api/Milvus.Api.csproj
COPY . .
RUN dotnet publish Milvus.Api/Milvus.Api.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# Everything the embedded backends persist lives in the data volume.
ENV Milvus__DataDir=/data \
    ASPNETCORE_URLS=http://0.0.0.0:19530
RUN mkdir -p /data && chown "$APP_UID" /data
VOLUME /data
EXPOSE 19530
# The image's unprivileged user.
USER $APP_UID
ENTRYPOINT ["dotnet", "Milvus.Api.dll"]
