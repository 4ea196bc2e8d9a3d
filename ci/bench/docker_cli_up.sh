# The docker CLI baseline of the up benchmarks (sourced by ci/bench/up_down.sh and up_pod.sh): the
# same MySQL + mock-llm + mock-vector containers brought up with parallel `docker run` and polled
# until healthy. Needs: cli_project, llm_image, vector_image, ENVTEST_MYSQL_IMAGE.
# shellcheck shell=bash

# The health checks run by the script itself, every 0.1 s, as envtest runs them.
cli_up() {
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p 127.0.0.1::3306 --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$ENVTEST_MYSQL_IMAGE" \
        --local-infile=1 --character-set-server=utf8mb4 >/dev/null &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        --network-alias mock-llm -p 127.0.0.1::8080 "$llm_image" --port 8080 >/dev/null &
    docker run -d --name "$cli_project-mock-vector-1" --network "${cli_project}_default" \
        --network-alias mock-vector -p 127.0.0.1::6333 "$vector_image" --port 6333 >/dev/null &
    wait
    until docker exec "$cli_project-mock-llm-1" /mock-llm --healthcheck >/dev/null 2>&1; do sleep 0.1; done
    until docker exec "$cli_project-mock-vector-1" /mock-vector --healthcheck >/dev/null 2>&1; do sleep 0.1; done
    until docker exec "$cli_project-mysql-1" sh -c \
        'mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -pbenchroot --silent' >/dev/null 2>&1; do
        sleep 0.1
    done
}

# The same containers, health left to the engine as `docker compose up --wait` does: the Compose
# file's healthcheck for MySQL (--health-*), the mock images' own HEALTHCHECK, and `docker inspect`
# polled every 0.1 s until all three report healthy.
cli_up_engine_health() {
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p 127.0.0.1::3306 --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot \
        --health-cmd 'mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -p"$MYSQL_ROOT_PASSWORD" --silent' \
        --health-interval 2s --health-timeout 5s --health-retries 60 --health-start-period 5s \
        "$ENVTEST_MYSQL_IMAGE" --local-infile=1 --character-set-server=utf8mb4 >/dev/null &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        --network-alias mock-llm -p 127.0.0.1::8080 "$llm_image" --port 8080 >/dev/null &
    docker run -d --name "$cli_project-mock-vector-1" --network "${cli_project}_default" \
        --network-alias mock-vector -p 127.0.0.1::6333 "$vector_image" --port 6333 >/dev/null &
    wait
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$cli_project-mysql-1" \
        "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" | sort -u)" = healthy ]; do
        sleep 0.1
    done
}

# The floor of any tool on this engine: the network and MySQL alone (its own network endpoint and
# published port, as the CLI script's), on a host port picked before the timing, polled from the
# host with `SELECT 1` every 20 ms (no exec). Every way of bringing up this environment with its
# network isolation pays at least this: one network set-up, one container start, MySQL's own start.
floor_up() { # floor_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p "127.0.0.1:$1:3306" --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$ENVTEST_MYSQL_IMAGE" \
        --local-infile=1 --character-set-server=utf8mb4 >/dev/null
    until mariadb -h127.0.0.1 -P"$1" -useoul -pbenchpw seoul -N -B -e 'SELECT 1' >/dev/null 2>&1; do
        sleep 0.02
    done
}

floor_down() {
    docker rm -f "$cli_project-mysql-1" >/dev/null
    docker network rm "${cli_project}_default" >/dev/null
}

cli_down() {
    docker rm -f "$cli_project-mysql-1" "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" >/dev/null
    docker network rm "${cli_project}_default" >/dev/null
}
