"""The scene spec: YAML read with the origin of every value, extends: and --set applied, older
formats migrated, the document and every component entry validated into a plan."""
