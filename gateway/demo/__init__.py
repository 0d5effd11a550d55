"""The demo: a broker of its own (:mod:`~gateway.demo.broker`, Mosquitto or amqtt), a
simulated platform that signs commands (:mod:`~gateway.demo.platform`), the live view of
what upstream receives (:mod:`~gateway.demo.view`), and the run that ties them to a gateway
on simulated hardware (:mod:`~gateway.demo.run`). Tests use its broker too."""
