// campus-twin in Azure: the Event Hubs namespace the gateways forward to, and the cloud service on Container
// Apps with its secrets in Key Vault, plus an Azure Database for PostgreSQL flexible server for the cloud
// store (see README.md). Deploy into a resource group:
//   az deployment group create -g campus-twin -f deploy/azure/main.bicep -p @deploy/azure/main.parameters.json
// Not compiled in this repository's CI (the Bicep CLI cannot be installed there): run `az bicep build -f
// deploy/azure/main.bicep` before a first deployment. Parameters: README.md.
targetScope = 'resourceGroup'

@description('Azure region (default: the resource group\'s).')
param location string = resourceGroup().location

@description('Prefix of every resource name, 3-11 lower-case letters or digits.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'campustwin'

@description('Event Hubs tier: Standard (consumer groups, 7-day retention) or Premium.')
@allowed(['Standard', 'Premium'])
param eventHubSku string = 'Standard'

@description('Throughput units (Standard) or processing units (Premium).')
@minValue(1)
param eventHubCapacity int = 1

@description('Partitions of the hub (the cloud spreads them over its replicas; fixed after creation on Standard).')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days an event stays in the hub: how long a stopped cloud can be and still catch up without loss.')
@minValue(1)
@maxValue(7)
param retentionDays int = 7

@description('Consumer group of the cloud service.')
param consumerGroupName string = 'campus-twin-cloud'

@description('Container image of campus-twin (deploy/Dockerfile), e.g. myregistry.azurecr.io/campus-twin:1.0.')
param image string

@description('Bearer tokens of the reporting API (JSON array of strings), stored in Key Vault.')
@secure()
param apiTokens string

@description('PostgreSQL administrator login.')
param postgresAdminLogin string = 'campustwin'

@description('PostgreSQL administrator password, stored in Key Vault.')
@secure()
param postgresAdminPassword string

@description('PostgreSQL compute tier and SKU (Burstable B1ms is enough for a campus; General Purpose for an estate).')
param postgresSkuName string = 'Standard_B1ms'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL storage in GiB.')
param postgresStorageGb int = 32

@description('Cloud replicas: each owns a share of the partitions (exactly-once either way).')
@minValue(1)
@maxValue(10)
param cloudReplicas int = 1

var suffix = uniqueString(resourceGroup().id, namePrefix)
var hubName = 'campus-twin'
var keyVaultSecretsUser = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4633458b-17de-408a-b874-0445c86b69e6'
)

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: '${namePrefix}-ehns-${suffix}'
  location: location
  sku: { name: eventHubSku, tier: eventHubSku, capacity: eventHubCapacity }
  properties: { minimumTlsVersion: '1.2', disableLocalAuth: false }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: { partitionCount: partitionCount, messageRetentionInDays: retentionDays }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

// One SAS rule per side, on the hub only: gateways can send and nothing else; the cloud can listen.
resource gatewaySend 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules@2024-01-01' = {
  parent: hub
  name: 'gateway-send'
  properties: { rights: ['Send'] }
}

resource cloudListen 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules@2024-01-01' = {
  parent: hub
  name: 'cloud-listen'
  properties: { rights: ['Listen'] }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id-${suffix}'
  location: location
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${namePrefix}-kv-${suffix}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
  }
}

// The cloud's identity reads the secrets, nothing else.
resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = {
  name: '${namePrefix}-pg-${suffix}'
  location: location
  sku: { name: postgresSkuName, tier: postgresSkuTier }
  properties: {
    version: '15'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: { storageSizeGB: postgresStorageGb }
    backup: { backupRetentionDays: 14, geoRedundantBackup: 'Disabled' }
    highAvailability: { mode: 'Disabled' }
  }
}

resource postgresDb 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = {
  parent: postgres
  name: 'campustwin'
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
}

// 0.0.0.0-0.0.0.0 is Azure's "allow Azure services": the Container Apps environment's outbound addresses.
resource postgresFromAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2022-12-01' = {
  parent: postgres
  name: 'allow-azure-services'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource secretGatewaySend 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'eventhub-gateway-send'
  properties: { value: gatewaySend.listKeys().primaryConnectionString }
}

resource secretCloudListen 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'eventhub-cloud-listen'
  properties: { value: cloudListen.listKeys().primaryConnectionString }
}

resource secretApiTokens 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'cloud-api-tokens'
  properties: { value: apiTokens }
}

// The cloud's PostgreSQL store: its URL, read by the cloud as CT_STORE__URL.
resource secretStoreUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'cloud-store-url'
  properties: {
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${postgresDb.name}?sslmode=require'
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env-${suffix}'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource cloud 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-cloud'
  location: location
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identity.id}': {} } }
  dependsOn: [vaultReader]
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: { external: true, targetPort: 8000, transport: 'http', allowInsecure: false }
      // Secrets are references to Key Vault, read with the app's identity: nothing secret in the app itself.
      secrets: [
        {
          name: 'eventhub-connection-string'
          keyVaultUrl: secretCloudListen.properties.secretUri
          identity: identity.id
        }
        { name: 'api-tokens', keyVaultUrl: secretApiTokens.properties.secretUri, identity: identity.id }
        { name: 'store-url', keyVaultUrl: secretStoreUrl.properties.secretUri, identity: identity.id }
      ]
    }
    template: {
      containers: [
        {
          name: 'cloud'
          image: image
          command: ['node', '--max-semi-space-size=4', 'shared/cli/campus-twin.mjs']
          // The store is the PostgreSQL server (CT_STORE__URL); /data keeps only the consumer's identity slot.
          args: ['cloud', '--config', 'config/cloud.yaml', '--data-dir', '/data/cloud']
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: [
            { name: 'CT_EVENT_HUB__CONNECTION_STRING', secretRef: 'eventhub-connection-string' }
            { name: 'CT_EVENT_HUB__HUB_NAME', value: hubName }
            { name: 'CT_EVENT_HUB__CONSUMER_GROUP', value: consumerGroupName }
            { name: 'CT_API__TOKENS', secretRef: 'api-tokens' }
            { name: 'CT_STORE__URL', secretRef: 'store-url' }
            { name: 'MALLOC_ARENA_MAX', value: '2' }
          ]
          volumeMounts: [{ volumeName: 'data', mountPath: '/data' }]
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8000 }, periodSeconds: 30 }
            { type: 'Readiness', httpGet: { path: '/healthz', port: 8000 }, periodSeconds: 10 }
          ]
        }
      ]
      volumes: [{ name: 'data', storageType: 'EmptyDir' }]
      scale: { minReplicas: cloudReplicas, maxReplicas: cloudReplicas }
    }
  }
}

@description('Event Hubs namespace host, for the gateways\' uplink.')
output eventHubsHost string = '${namespace.name}.servicebus.windows.net'

@description('Hub name for CT_UPLINK__HUB_NAME.')
output eventHubName string = hub.name

@description('Key Vault secret holding the gateways\' send-only connection string.')
output gatewayConnectionStringSecret string = secretGatewaySend.properties.secretUri

@description('The cloud\'s reporting API.')
output cloudUrl string = 'https://${cloud.properties.configuration.ingress.fqdn}'

@description('Key Vault secret with the PostgreSQL store URL (the cloud reads it as CT_STORE__URL).')
output storeUrlSecret string = secretStoreUrl.properties.secretUri

@description('PostgreSQL server host.')
output postgresHost string = postgres.properties.fullyQualifiedDomainName
