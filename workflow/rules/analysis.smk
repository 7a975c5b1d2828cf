rule analysis_config:
    output:
        report(
            results("config.yaml"),
            caption="../report/config.rst",
            category="configuration",
            labels={"file": "config.yaml"},
        ),
    log:
        results("logs/analysis_config.log"),
    localrule: True
    conda:
        "../envs/snakelight.yaml"
    params:
        config=config,
    script:
        "../scripts/analysis_config.py"
