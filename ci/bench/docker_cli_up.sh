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

# The floors: the least any tool pays for this environment on this engine, one per way of giving
# the three services their network, each measured without a reaper, without any health check but
# MySQL's `SELECT 1` polled from the host every 20 ms through its published port (no exec), and
# without waiting for the two HTTP services:
#   floor_up: the network and MySQL alone (its own endpoint, its one published port): below every
#     way, since every way starts MySQL with networking.
#   floor_one_ns_up: one network namespace for the three services (as pod mode, but with MySQL
#     owning it, which saves the holder's start): MySQL alone, publishing the three services' ports
#     (the one endpoint publishes them all); the other two services would join it afterwards.
#   floor_pod_up: one namespace as pod mode makes it: a holder container owns it and publishes the
#     three ports, and MySQL joins it (network_mode container:) once the holder runs.
#   floor_two_ns_up: two namespaces: MySQL on its own endpoint, and a container for the two HTTP
#     services publishing their two ports (a holder they would join), started in parallel.
#   floor_three_ns_up: a namespace per service, as the CLI script and `envtest up`: the three
#     containers started in parallel, each with its own endpoint and port.
# Each takes the host port for MySQL, picked before the timing.
floor_mysql_run() { # floor_mysql_run HOST_PORT [more docker run options]
    local port="$1"
    shift
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p "127.0.0.1:$port:3306" "$@" --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$ENVTEST_MYSQL_IMAGE" \
        --local-infile=1 --character-set-server=utf8mb4 >/dev/null
}
floor_poll() { # floor_poll HOST_PORT
    until mariadb -h127.0.0.1 -P"$1" -useoul -pbenchpw seoul -N -B -e 'SELECT 1' >/dev/null 2>&1; do
        sleep 0.02
    done
}
floor_up() { # floor_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    floor_mysql_run "$1"
    floor_poll "$1"
}
floor_one_ns_up() { # floor_one_ns_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    floor_mysql_run "$1" -p 127.0.0.1::8080 -p 127.0.0.1::6333
    floor_poll "$1"
}
floor_pod_up() { # floor_pod_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-holder" --network "${cli_project}_default" \
        -p "127.0.0.1:$1:3306" -p 127.0.0.1::8080 -p 127.0.0.1::6333 "$llm_image" --port 8080 >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "container:$cli_project-holder" \
        --tmpfs /var/lib/mysql -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$ENVTEST_MYSQL_IMAGE" \
        --local-infile=1 --character-set-server=utf8mb4 >/dev/null
    floor_poll "$1"
}
floor_two_ns_up() { # floor_two_ns_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    floor_mysql_run "$1" &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        -p 127.0.0.1::8080 -p 127.0.0.1::6333 "$llm_image" --port 8080 >/dev/null &
    wait
    floor_poll "$1"
}
floor_three_ns_up() { # floor_three_ns_up HOST_PORT
    docker network create "${cli_project}_default" >/dev/null
    floor_mysql_run "$1" &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        --network-alias mock-llm -p 127.0.0.1::8080 "$llm_image" --port 8080 >/dev/null &
    docker run -d --name "$cli_project-mock-vector-1" --network "${cli_project}_default" \
        --network-alias mock-vector -p 127.0.0.1::6333 "$vector_image" --port 6333 >/dev/null &
    wait
    floor_poll "$1"
}

floor_down() { # the containers the floor made (one to three) and the network
    # shellcheck disable=SC2046 # ids are words
    docker rm -f $(docker ps -aq --filter "name=^$cli_project-") >/dev/null
    docker network rm "${cli_project}_default" >/dev/null
}

cli_down() {
    docker rm -f "$cli_project-mysql-1" "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" >/dev/null
    docker network rm "${cli_project}_default" >/dev/null
}
