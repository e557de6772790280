/* eslint-disable no-template-curly-in-string -- ${Name} in these strings is CloudFormation's Fn::Sub syntax, not a JavaScript template */
// The service's AWS stack for one environment, as a CloudFormation template built with cloudform.
//
// Instances run an AMI baked by the delivery pipeline with the RPM (_pkg/), the Datadog agent and the
// AWS CLI; the launch template only writes the environment-specific overrides and the agent
// configuration. Values owned by other teams (network, certificates, Eureka, the AMI id the bake
// publishes) are read from SSM parameters, so the template holds no account-specific identifiers.
import {
  AutoScaling, DynamoDB, EC2, ElasticLoadBalancingV2, Fn, IAM, S3, SSM, ResourceTag, type Tag, type Template
} from './cloudform.ts'
import { stringify } from 'yaml'
import { cdnParameters, cdnResources, cdnStatements } from './cdn.ts'
import { SETTINGS, type Environment, type EnvironmentSettings } from './environments.ts'
import { DOGSTATSD_AGENT_SETTINGS } from '../datadog/agent.ts'

export const SERVICE = 'delivery-images'
export const SERVICE_PORT = 8080
export const HEALTH_CHECK_PATH = '/healthcheck'
// The ALB takes a target out after UNHEALTHY_THRESHOLD failed checks HEALTH_CHECK_INTERVAL_S apart;
// the drain of every environment covers that window (asserted by the tests).
export const HEALTH_CHECK_INTERVAL_S = 5
export const UNHEALTHY_THRESHOLD = 2
// systemd's TimeoutStopSec in _pkg/delivery-images.service: the scale-in hook must outlast it.
export const SYSTEMD_TIMEOUT_STOP_S = 45
// Transformed images expire from the shared cache after this many days (the key embeds the
// source's version, so nothing goes stale; this only bounds the bucket's size).
export const CACHE_EXPIRATION_DAYS = 30
// The admin listener (ADMIN_HOST=127.0.0.1, ADMIN_PORT in _pkg/delivery-images.env): no security group opens it.
export const ADMIN_PORT = 8077

// The public load balancer refuses the operations endpoints, with and without the /api/v1 prefix.
// /hystrix.stream is served on the service port: Turbine reads it from each instance directly, by
// the address the instance registers in Eureka, never through the ALB. /admin lives on the
// loopback admin listener (operators reach it through a Session Manager port forward); it is
// refused here too so that binding it to the service port one day cannot publish it.
// The answer is the service's own to an unknown route (its JSON error shape): a refused path looks like any missing one.
// The CDN in front refuses the same paths in its viewer-request function (infra/cdn/cloudfront-function.js).
export const REFUSED_STATUS = '404'
export const REFUSED_BODY = JSON.stringify({ error: { code: 'IMAGE_NOT_FOUND', message: 'No such route', requestId: '' } })

export function deregistrationDelaySeconds (settings: EnvironmentSettings): number {
  // While deregistering, the ALB lets in-flight requests finish for this long; the service keeps
  // answering for SHUTDOWN_DRAIN_MS after SIGTERM, so both windows are the same.
  return Math.ceil(settings.shutdownDrainMs / 1000)
}

export function scaleInHeartbeatSeconds (settings: EnvironmentSettings): number {
  // Long enough for the drain, the in-flight requests and the flush of logs/metrics before EC2
  // powers the instance off; 30 s margin for the agent to ship the last log lines.
  const shutdown = Math.ceil((settings.shutdownDrainMs + settings.shutdownTimeoutMs) / 1000)
  return Math.max(shutdown, SYSTEMD_TIMEOUT_STOP_S) + 30
}

/** Environment variables written to /etc/sysconfig/delivery-images.local on each instance. */
export function serviceEnvironment (env: Environment, settings: EnvironmentSettings): Record<string, string> {
  return {
    APP_ENV: env,
    HOST: '0.0.0.0',
    PORT: String(SERVICE_PORT),
    ORIGIN: 's3',
    S3_BUCKET: '${OriginalsBucketName}',
    S3_REGION: '${AWS::Region}',
    CACHE_S3_BUCKET: '${CacheBucket}',
    DYNAMIC_CONFIG_SOURCE: 'dynamodb',
    DYNAMIC_CONFIG_TABLE: '${DynamicConfigTable}',
    LOGIC_SOURCE: 'remote',
    EUREKA_ENABLED: 'true',
    EUREKA_HOST: '${EurekaHost}',
    EUREKA_DATACENTER: 'aws',
    STATSD_HOST: '127.0.0.1',
    DD_TRACE_ENABLED: 'true',
    DD_ENV: env,
    DD_SERVICE: SERVICE,
    LOG_LEVEL: settings.logLevel,
    SHUTDOWN_DRAIN_MS: String(settings.shutdownDrainMs),
    SHUTDOWN_TIMEOUT_MS: String(settings.shutdownTimeoutMs),
    // SIGNING_KEYS and ADMIN_TOKEN come from the stack's secret (re-read while running: rotation needs no restart).
    SECRETS_SOURCE: 'aws-secrets-manager',
    SECRETS_ID: '${ServiceSecret}',
    // POST /admin/purge invalidates the paths on the distribution in front.
    CDN_PROVIDER: 'cloudfront',
    CDN_DISTRIBUTION_ID: '${CdnDistribution}'
  }
}

/** The Datadog agent's main configuration (the API key is added on the instance from SSM). */
export function agentConfig (env: Environment): Record<string, unknown> {
  return {
    site: 'datadoghq.eu',
    env,
    tags: [`service:${SERVICE}`, `env:${env}`],
    // DogStatsD and APM on loopback only: the service sends to 127.0.0.1 (STATSD_HOST, dd-trace's default).
    use_dogstatsd: true,
    dogstatsd_port: 8125,
    dogstatsd_non_local_traffic: false,
    // Without these the agent makes no `.95percentile`/`.99percentile` series: the p99 monitor could never fire.
    histogram_aggregates: [...DOGSTATSD_AGENT_SETTINGS.histogram_aggregates],
    histogram_percentiles: [...DOGSTATSD_AGENT_SETTINGS.histogram_percentiles],
    apm_config: { enabled: true, apm_non_local_traffic: false },
    logs_enabled: true,
    process_config: { process_collection: { enabled: false } }
  }
}

/** The agent's log integration: the service's JSON lines from the journal (stdout of the unit). */
export function agentLogsConfig (): Record<string, unknown> {
  return {
    logs: [{
      type: 'journald',
      include_units: [`${SERVICE}.service`],
      service: SERVICE,
      source: 'nodejs'
    }]
  }
}

function userData (env: Environment, settings: EnvironmentSettings): string {
  const envFile = Object.entries(serviceEnvironment(env, settings)).map(([name, value]) => `${name}=${value}`)
  // Fn::Sub substitutes ${Name}; the shell script itself only uses $NAME forms to stay out of its way.
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'umask 027',
    `cat > /etc/sysconfig/${SERVICE}.local <<'ENVIRONMENT'`,
    ...envFile,
    'ENVIRONMENT',
    `chown root:${SERVICE} /etc/sysconfig/${SERVICE}.local`,
    'ssm_value() { aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --query Parameter.Value --output text; }',
    'REGION=${AWS::Region}',
    'ssm_value ${AgentConfigParameter} > /etc/datadog-agent/datadog.yaml',
    'printf "api_key: %s\\n" "$(ssm_value ${DatadogApiKeyParameterName})" >> /etc/datadog-agent/datadog.yaml',
    `mkdir -p /etc/datadog-agent/conf.d/${SERVICE.replace('-', '_')}.d`,
    `ssm_value \${AgentLogsConfigParameter} > /etc/datadog-agent/conf.d/${SERVICE.replace('-', '_')}.d/conf.yaml`,
    'chown -R dd-agent:dd-agent /etc/datadog-agent',
    // The agent reads the journal as a member of systemd-journal.
    'usermod -a -G systemd-journal dd-agent',
    `systemctl enable --now datadog-agent ${SERVICE}`,
    `systemctl restart datadog-agent ${SERVICE}`,
    ''
  ].join('\n')
}

type ListenerRule = InstanceType<typeof ElasticLoadBalancingV2.ListenerRule>

function refuse (priority: number, paths: string[]): ListenerRule {
  return new ElasticLoadBalancingV2.ListenerRule({
    ListenerArn: Fn.Ref('HttpsListener'),
    Priority: priority,
    Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: paths } }],
    Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: REFUSED_STATUS, ContentType: 'application/json', MessageBody: REFUSED_BODY } }]
  })
}

/**
 * Rules of the HTTPS listener, evaluated by ascending priority before its default forward (the HTTP
 * listener only redirects here, so they apply to it too). A path condition takes at most 3 values.
 */
function listenerRules (): Record<string, ListenerRule> {
  return {
    RefuseHystrixStreamRule: refuse(1, ['/hystrix.stream', '/hystrix.stream/*']),
    RefuseAdminRule: refuse(2, ['/admin', '/admin/*']),
    RefuseApiHystrixStreamRule: refuse(3, ['/api/v1/hystrix.stream', '/api/v1/hystrix.stream/*']),
    RefuseApiAdminRule: refuse(4, ['/api/v1/admin', '/api/v1/admin/*']),
    // The service's router decodes the path, so /%68ystrix.stream would reach the stream past the
    // rules above: image paths (the only ones that may carry percent-encoded ids) are forwarded,
    // then any other percent-encoded path is refused.
    ForwardImagesRule: new ElasticLoadBalancingV2.ListenerRule({
      ListenerArn: Fn.Ref('HttpsListener'),
      Priority: 5,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['*/images/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: Fn.Ref('TargetGroup') }]
    }),
    RefuseEncodedPathRule: refuse(6, ['*%*'])
  }
}

function tags (env: Environment, name: string): Tag[] {
  return [new ResourceTag('Name', `${SERVICE}-${env}-${name}`), new ResourceTag('service', SERVICE), new ResourceTag('env', env)]
}

export function buildTemplate (env: Environment): Template {
  const settings = SETTINGS[env]
  const name = `${SERVICE}-${env}`

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${SERVICE} (${env}): CloudFront, ALB, auto-scaling group, IAM, secret, dynamic configuration table, transformed-image cache`,
    Parameters: {
      VpcId: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>', Default: `/network/${env}/vpc-id`, Description: 'SSM parameter holding the VPC id' },
      PublicSubnetIds: { Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>', Default: `/network/${env}/public-subnet-ids`, Description: 'SSM parameter: subnets of the load balancer' },
      PrivateSubnetIds: { Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>', Default: `/network/${env}/private-subnet-ids`, Description: 'SSM parameter: subnets of the instances' },
      CertificateArn: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/${SERVICE}/${env}/certificate-arn`, Description: 'SSM parameter: ACM certificate of the HTTPS listener' },
      EurekaHost: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/platform/${env}/eureka-host`, Description: 'SSM parameter: Eureka server host' },
      ImageId: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: `/${SERVICE}/${env}/ami-id`, Description: 'SSM parameter the bake stage updates with the AMI holding the RPM' },
      OriginalsBucketName: { Type: 'String', MinLength: 3, Description: 'Bucket of originals (read-only for the service)' },
      DatadogApiKeyParameterName: { Type: 'String', Default: '/datadog/api-key', Description: 'SecureString SSM parameter holding the Datadog API key' },
      ...cdnParameters(env)
    },
    Resources: {
      LoadBalancerSecurityGroup: new EC2.SecurityGroup({
        GroupDescription: `${name} load balancer: HTTPS from the CDN and clients`,
        VpcId: Fn.Ref('VpcId'),
        SecurityGroupIngress: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0', Description: 'HTTPS' },
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0', Description: 'HTTP, redirected to HTTPS' }
        ],
        Tags: tags(env, 'alb')
      }),
      InstanceSecurityGroup: new EC2.SecurityGroup({
        // Only the public port, only from the load balancer; the admin port (ADMIN_PORT) stays on
        // loopback (ADMIN_HOST) and is opened to nobody.
        GroupDescription: `${name} instances: service port from the load balancer only`,
        VpcId: Fn.Ref('VpcId'),
        SecurityGroupIngress: [
          { IpProtocol: 'tcp', FromPort: SERVICE_PORT, ToPort: SERVICE_PORT, SourceSecurityGroupId: Fn.Ref('LoadBalancerSecurityGroup'), Description: 'service port from the ALB' }
        ],
        Tags: tags(env, 'instances')
      }),

      LoadBalancer: new ElasticLoadBalancingV2.LoadBalancer({
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: Fn.Ref('PublicSubnetIds'),
        SecurityGroups: [Fn.Ref('LoadBalancerSecurityGroup')],
        LoadBalancerAttributes: [
          { Key: 'deletion_protection.enabled', Value: String(settings.protectData) },
          { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
          // Above LIMITS_TRANSFORM_TIMEOUT_MS (15 s) so the service, not the ALB, answers a slow transform.
          { Key: 'idle_timeout.timeout_seconds', Value: '30' }
        ],
        Tags: tags(env, 'alb')
      }),
      TargetGroup: new ElasticLoadBalancingV2.TargetGroup({
        VpcId: Fn.Ref('VpcId'),
        Protocol: 'HTTP',
        Port: SERVICE_PORT,
        TargetType: 'instance',
        HealthCheckEnabled: true,
        HealthCheckProtocol: 'HTTP',
        HealthCheckPath: HEALTH_CHECK_PATH,
        HealthCheckIntervalSeconds: HEALTH_CHECK_INTERVAL_S,
        HealthCheckTimeoutSeconds: 3,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: UNHEALTHY_THRESHOLD,
        // 503 (OUT_OF_SERVICE during the drain) must count as unhealthy: only 200 is healthy.
        Matcher: { HttpCode: '200' },
        TargetGroupAttributes: [
          { Key: 'deregistration_delay.timeout_seconds', Value: String(deregistrationDelaySeconds(settings)) },
          { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' }
        ],
        Tags: tags(env, 'service')
      }),
      HttpsListener: new ElasticLoadBalancingV2.Listener({
        LoadBalancerArn: Fn.Ref('LoadBalancer'),
        Protocol: 'HTTPS',
        Port: 443,
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: Fn.Ref('CertificateArn') }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: Fn.Ref('TargetGroup') }]
      }),
      HttpListener: new ElasticLoadBalancingV2.Listener({
        LoadBalancerArn: Fn.Ref('LoadBalancer'),
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }]
      }),
      ...listenerRules(),

      CacheBucket: new S3.Bucket({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [{ Id: 'expire-transformed', Status: 'Enabled', Prefix: 'transformed/', ExpirationInDays: CACHE_EXPIRATION_DAYS }]
        },
        Tags: tags(env, 'cache')
      }),

      DynamicConfigTable: new DynamoDB.Table({
        // Items {key, value}: the dynamic properties polled by the service (DYNAMIC_CONFIG_TABLE).
        TableName: `${name}-dynamic-config`,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: settings.protectData },
        DeletionProtectionEnabled: settings.protectData,
        Tags: tags(env, 'dynamic-config')
      }),

      AgentConfigParameter: new SSM.Parameter({
        Name: `/${SERVICE}/${env}/datadog-agent/datadog.yaml`,
        Type: 'String',
        Tier: 'Standard',
        Description: `Datadog agent configuration of ${name} (without the API key)`,
        Value: stringify(agentConfig(env))
      }),
      AgentLogsConfigParameter: new SSM.Parameter({
        Name: `/${SERVICE}/${env}/datadog-agent/logs.yaml`,
        Type: 'String',
        Tier: 'Standard',
        Description: `Datadog agent log collection of ${name}`,
        Value: stringify(agentLogsConfig())
      }),

      InstanceRole: new IAM.Role({
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
        },
        // Session Manager instead of SSH: no key pair, no port 22.
        ManagedPolicyArns: [Fn.Sub('arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore', {})],
        Policies: [{
          PolicyName: 'delivery-images',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                // ListBucket too: without it S3 answers 403 for a missing key, which would be a 502 instead of a 404.
                Sid: 'ReadOriginals',
                Effect: 'Allow',
                Action: ['s3:GetObject', 's3:ListBucket'],
                Resource: [
                  Fn.Sub('arn:${AWS::Partition}:s3:::${OriginalsBucketName}', {}),
                  Fn.Sub('arn:${AWS::Partition}:s3:::${OriginalsBucketName}/*', {})
                ]
              },
              {
                Sid: 'ReadWriteTransformedCache',
                Effect: 'Allow',
                Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
                Resource: [Fn.GetAtt('CacheBucket', 'Arn'), Fn.Sub('${CacheBucket.Arn}/*', {})]
              },
              {
                Sid: 'ReadDynamicConfig',
                Effect: 'Allow',
                Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'],
                Resource: Fn.GetAtt('DynamicConfigTable', 'Arn')
              },
              {
                // POST /admin/purge writes its purge records into the table every instance polls.
                Sid: 'WritePurgeRecords',
                Effect: 'Allow',
                Action: ['dynamodb:PutItem'],
                Resource: Fn.GetAtt('DynamicConfigTable', 'Arn')
              },
              {
                Sid: 'ReadAgentConfig',
                Effect: 'Allow',
                Action: ['ssm:GetParameter'],
                Resource: [
                  Fn.Sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${SERVICE}/${env}/datadog-agent/*`, {}),
                  Fn.Sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${DatadogApiKeyParameterName}', {})
                ]
              },
              {
                // Lets an instance end its own scale-in wait as soon as its shutdown is done.
                Sid: 'CompleteOwnLifecycleAction',
                Effect: 'Allow',
                Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
                Resource: Fn.Sub(`arn:\${AWS::Partition}:autoscaling:\${AWS::Region}:\${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${name}`, {})
              },
              ...cdnStatements()
            ]
          }
        }],
        Tags: tags(env, 'instance-role')
      }),
      InstanceProfile: new IAM.InstanceProfile({ Roles: [Fn.Ref('InstanceRole')] }),

      LaunchTemplate: new EC2.LaunchTemplate({
        LaunchTemplateName: name,
        LaunchTemplateData: {
          ImageId: Fn.Ref('ImageId'),
          InstanceType: settings.instanceType,
          IamInstanceProfile: { Arn: Fn.GetAtt('InstanceProfile', 'Arn') },
          SecurityGroupIds: [Fn.Ref('InstanceSecurityGroup')],
          // IMDSv2 only, one hop: a container on the host cannot borrow the instance role.
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
          Monitoring: { Enabled: true },
          UserData: Fn.Base64(Fn.Sub(userData(env, settings), {})),
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags(env, 'instance') },
            { ResourceType: 'volume', Tags: tags(env, 'volume') }
          ]
        }
      }),
      AutoScalingGroup: new AutoScaling.AutoScalingGroup({
        AutoScalingGroupName: name,
        VPCZoneIdentifier: Fn.Ref('PrivateSubnetIds'),
        LaunchTemplate: { LaunchTemplateId: Fn.Ref('LaunchTemplate'), Version: Fn.GetAtt('LaunchTemplate', 'LatestVersionNumber') },
        MinSize: String(settings.minSize),
        MaxSize: String(settings.maxSize),
        DesiredCapacity: String(settings.desiredCapacity),
        TargetGroupARNs: [Fn.Ref('TargetGroup')],
        // Replace instances the ALB finds unhealthy, not only those EC2 finds broken.
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: 90,
        MetricsCollection: [{ Granularity: '1Minute' }],
        Tags: [
          { Key: 'service', Value: SERVICE, PropagateAtLaunch: true },
          { Key: 'env', Value: env, PropagateAtLaunch: true }
        ]
      }).updatePolicy({
        AutoScalingRollingUpdate: { MinInstancesInService: settings.minSize, MaxBatchSize: 1, PauseTime: 'PT5M', WaitOnResourceSignals: false }
      }),
      ScaleInLifecycleHook: new AutoScaling.LifecycleHook({
        // Holds a terminating instance (already deregistered from the ALB) until the service has
        // drained and flushed; CONTINUE lets the termination go on if nobody completes the action.
        AutoScalingGroupName: Fn.Ref('AutoScalingGroup'),
        LifecycleHookName: `${name}-scale-in`,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: scaleInHeartbeatSeconds(settings),
        DefaultResult: 'CONTINUE'
      }),
      CpuScalingPolicy: new AutoScaling.ScalingPolicy({
        AutoScalingGroupName: Fn.Ref('AutoScalingGroup'),
        PolicyType: 'TargetTrackingScaling',
        EstimatedInstanceWarmup: 120,
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
          TargetValue: settings.targetCpuPercent
        }
      }),

      ...cdnResources(env, settings, name, (part) => tags(env, part))
    },
    Outputs: {
      LoadBalancerDnsName: { Description: 'DNS name of the ALB (CDN origin)', Value: Fn.GetAtt('LoadBalancer', 'DNSName') },
      TargetGroupArn: { Value: Fn.Ref('TargetGroup') },
      AutoScalingGroupName: { Value: Fn.Ref('AutoScalingGroup') },
      CacheBucketName: { Value: Fn.Ref('CacheBucket') },
      DynamicConfigTableName: { Value: Fn.Ref('DynamicConfigTable') },
      InstanceRoleArn: { Value: Fn.GetAtt('InstanceRole', 'Arn') },
      CdnDistributionId: { Value: Fn.Ref('CdnDistribution') },
      CdnDistributionDomainName: { Description: 'Target of the CDN domain\'s DNS record', Value: Fn.GetAtt('CdnDistribution', 'DomainName') },
      ServiceSecretArn: { Value: Fn.Ref('ServiceSecret') }
    }
  }
}

/** The template as CloudFormation reads it: plain JSON, without cloudform's class instances. */
export function renderTemplate (env: Environment): string {
  return `${JSON.stringify(buildTemplate(env), null, 2)}\n`
}
