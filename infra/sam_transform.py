"""Expands the SAM template into plain CloudFormation, offline, for cfn-lint and the tests.

Usage: python infra/sam_transform.py infra/template.yaml OUT.json

aws-sam-translator does the same expansion as CloudFormation's AWS::Serverless transform.
It asks AWS only for the ARNs of managed policies named in a function's `Policies`; the
template names none (each function has its own role), so the loader here refuses to be used
rather than reach the network.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """A policy loader for templates that name no managed policies."""

    def load(self):
        raise SystemExit("the template names a managed policy: give each function its own role instead")


def main():
    source, target = sys.argv[1], sys.argv[2]
    # The partition and region only fill in ARNs of the expansion; nothing is sent anywhere.
    os.environ.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # `sam deploy` uploads each local CodeUri folder and puts its S3 address in the template
    # before the transform runs; stand in for that step with an address per function.
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(
            properties.get("CodeUri", "")
        ).startswith("s3://"):
            properties["CodeUri"] = f"s3://packaged-by-sam-deploy/{name}.zip"
    expanded = transform(template, {}, NoManagedPolicies())
    with open(target, "w", encoding="utf-8") as f:
        json.dump(expanded, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
