using Microsoft.Extensions.Configuration;
using Milvus.Domain.Params;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Params;

public sealed class BaseTableTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LoadYamlFlattensTheFileIntoTheTable()
    {
        var table = new BaseTable();
        table.LoadYaml(WriteYaml("a.yaml", "etcd:\n  address: localhost\n  port: 2379\n  rootpath: milvus/etcd\n"));

        Assert.Equal("localhost", table.Load("etcd.address"));
        Assert.Equal(2379, table.ParseInt("etcd.port"));
        Assert.Equal("milvus/etcd", table.Load("etcd.rootpath"));
    }

    [Fact]
    public void KeysAreLookedUpCaseInsensitively()
    {
        var table = new BaseTable();
        table.LoadYaml(WriteYaml("a.yaml", "rocksmq:\n  pageSize: 1024\n"));

        Assert.Equal("1024", table.Load("RocksMQ.PageSize"));
        Assert.Equal("1024", table.Load("rocksmq.pagesize"));
    }

    [Fact]
    public void LayersApplyYamlThenAppSettingsThenEnvironmentThenOverrides()
    {
        var configuration = new ConfigurationManager();
        configuration.Sources.Add(new YamlParamsConfigurationSource(WriteYaml("a.yaml", "x:\n  fromyaml: y\n  a: yaml\n  b: yaml\n  c: yaml\n  d: yaml\n"), optional: false));
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Milvus:X:A"] = "appsettings", ["Milvus:X:B"] = "appsettings", ["Milvus:X:C"] = "appsettings" });
        configuration.Sources.Add(new MilvusConfEnvironmentSource(new Dictionary<string, string> { ["MILVUS_CONF_X_B"] = "env", ["MILVUS_CONF_X_C"] = "env" }));
        var table = new BaseTable(configuration);
        table.LoadFromKVPair([new("x.c", "override")]);

        Assert.Equal("y", table.Load("x.fromyaml"));
        Assert.Equal("appsettings", table.Load("x.a"));
        Assert.Equal("env", table.Load("x.b"));
        Assert.Equal("override", table.Load("x.c"));
        Assert.Equal("yaml", table.Load("x.d"));
    }

    [Fact]
    public void AYamlFileLoadedLaterStillSitsBelowAppSettings()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Milvus:Etcd:Endpoints"] = "http://appsettings:2379" });
        var table = new BaseTable(configuration);

        table.LoadYaml(WriteYaml("late.yaml", "etcd:\n  endpoints: http://yaml:2379\n  rootPath: from-yaml\n"));

        Assert.Equal("http://appsettings:2379", table.Load("etcd.endpoints"));
        Assert.Equal("from-yaml", table.Load("etcd.rootpath"));
    }

    [Fact]
    public void AnUnparsableValueNamesTheKeyAndTheValue()
    {
        var table = new BaseTable();
        table.LoadFromKVPair([new("tso.updateintervalms", "fifty")]);

        var error = Assert.Throws<ParamException>(() => table.ParseInt64("tso.updateIntervalMs"));

        Assert.Contains("tso.updateIntervalMs", error.Message, StringComparison.Ordinal);
        Assert.Contains("fifty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParsersReadNumbersAndBooleans()
    {
        var table = new BaseTable();
        table.LoadFromKVPair([new("a.float", "2.5"), new("a.big", "9007199254740993"), new("a.int", "-7"), new("a.flag", "True")]);

        Assert.Equal(2.5, table.ParseFloat("a.float"));
        Assert.Equal(9007199254740993L, table.ParseInt64("a.big"));
        Assert.Equal(-7, table.ParseInt32("a.int"));
        Assert.True(table.ParseBool("a.flag"));
        Assert.Throws<ParamException>(() => table.ParseInt32("a.big"));
    }

    [Fact]
    public void AMissingKeyIsATypedError()
    {
        var table = new BaseTable();

        var error = Assert.Throws<ParamNotFoundException>(() => table.Load("no.such.key"));

        Assert.Equal("no.such.key", error.Key);
        Assert.Throws<ArgumentException>(() => table.Load(""));
    }

    [Fact]
    public void LoadRangeReturnsSortedKeysBetweenBoundsUpToTheLimit()
    {
        var table = new BaseTable();
        table.LoadFromKVPair([new("r.a", "1"), new("r.b", "2"), new("r.c", "3"), new("r.d", "4"), new("s.a", "5")]);

        var (keys, values) = table.LoadRange("r.b", "r.d", limit: 0);
        Assert.Equal(["r.b", "r.c"], keys);
        Assert.Equal(["2", "3"], values);

        var (limited, _) = table.LoadRange("r.", "", limit: 3);
        Assert.Equal(["r.a", "r.b", "r.c"], limited);
    }

    [Fact]
    public void NodeIdListsComeFromCommaSeparatedValues()
    {
        var table = new BaseTable();
        table.LoadYaml(WriteYaml("ids.yaml", "nodeID:\n  queryNodeIDList: [3, 1, 2]\n  proxyIDList: []\n"));

        Assert.Equal([3L, 1L, 2L], table.QueryNodeIDList());
        Assert.Empty(table.ProxyIDList());
        Assert.Empty(table.DataNodeIDList());
    }

    [Fact]
    public void ArraysFromAppSettingsAreJoinedAndSecretsAreMasked()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Milvus:Auth:ApiKeys:0"] = "k1",
            ["Milvus:Auth:ApiKeys:1"] = "k2",
            ["Milvus:Minio:SecretKey"] = "hidden",
            ["Milvus:Minio:Bucket"] = "b",
        });
        var table = new BaseTable(configuration);

        Assert.Equal("k1,k2", table.Load("auth.apikeys"));
        var masked = table.LoadWithPrefixMasked("");
        Assert.Equal("***", masked["auth.apikeys"]);
        Assert.Equal("***", masked["minio.secretkey"]);
        Assert.Equal("b", masked["minio.bucket"]);
    }

    [Fact]
    public void AMissingExplicitYamlFileIsAnError()
    {
        var table = new BaseTable();

        Assert.Throws<ParamException>(() => table.LoadYaml(_dir.Combine("missing.yaml")));
    }

    private string WriteYaml(string name, string text)
    {
        var path = _dir.Combine(name);
        File.WriteAllText(path, text);
        return path;
    }
}
