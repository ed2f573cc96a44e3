using Milvus.Domain.Params;

namespace Milvus.Tests.Params;

public sealed class YamlFlattenerTests
{
    [Fact]
    public void NestedMappingsBecomeDottedLowerCaseKeys()
    {
        var pairs = YamlFlattener.Flatten(new StringReader("""
            etcd:
              address: localhost
              port: 2379
              rootPath: milvus/etcd
            """));

        Assert.Equal(3, pairs.Count);
        Assert.Equal("localhost", pairs["etcd.address"]);
        Assert.Equal("2379", pairs["etcd.port"]);
        Assert.Equal("milvus/etcd", pairs["etcd.rootpath"]);
    }

    [Fact]
    public void ScalarSequencesAreCommaJoinedAndMappingSequencesAreIndexed()
    {
        var pairs = YamlFlattener.Flatten(new StringReader("""
            nodeID:
              queryNodeIDList: [1, 2, 3]
            servers:
              - name: a
              - name: b
            empty: []
            nothing:
            """));

        Assert.Equal("1,2,3", pairs["nodeid.querynodeidlist"]);
        Assert.Equal("a", pairs["servers.0.name"]);
        Assert.Equal("b", pairs["servers.1.name"]);
        Assert.Equal("", pairs["empty"]);
        Assert.Equal("", pairs["nothing"]);
    }

    [Fact]
    public void MalformedYamlNamesTheSourceAndLine()
    {
        var error = Assert.Throws<ParamException>(() => YamlFlattener.Flatten(new StringReader("a: 1\n  b: 2\n"), "broken.yaml"));

        Assert.Contains("broken.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a:\n  b: [1, 2\nc: 3\n")]
    [InlineData("a: \"unterminated\n")]
    [InlineData("- a\nb: c\n")]
    public void AnyMalformedYamlIsAParamError(string yaml)
    {
        var error = Assert.Throws<ParamException>(() => YamlFlattener.Flatten(new StringReader(yaml), "broken.yaml"));

        Assert.Contains("broken.yaml", error.Message, StringComparison.Ordinal);
    }
}
