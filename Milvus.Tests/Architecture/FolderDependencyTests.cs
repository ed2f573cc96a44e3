using System.Text.RegularExpressions;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Architecture;

/// <summary>
/// The subsystems of <c>Milvus.Domain</c> (its top folders) depend on each other without a cycle, so each can be read,
/// changed and tested from the bottom up, and the Domain names no HTTP route.
/// </summary>
public sealed partial class FolderDependencyTests
{
    [Fact]
    public void DomainFoldersFormNoCycleAndNameNoRoute()
    {
        var root = RepositoryFiles.PathOf("Milvus.Domain");
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var routes = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            if (NamespaceRegex().Match(text) is not { Success: true } ns)
            {
                continue;
            }
            var from = Subsystem(ns.Groups[1].Value);
            foreach (Match use in UsingRegex().Matches(text))
            {
                var to = Subsystem(use.Groups[1].Value);
                if (to != from)
                {
                    (edges.TryGetValue(from, out var set) ? set : edges[from] = new(StringComparer.Ordinal)).Add(to);
                }
            }
            if (text.Contains("api/v1", StringComparison.Ordinal))
            {
                routes.Add(Path.GetRelativePath(root, file));
            }
        }

        Assert.True(edges.Count >= 8, $"only {edges.Count} folders with dependencies were found");
        var cycles = edges.SelectMany(e => e.Value.Where(to => Reaches(edges, to, e.Key)).Select(to => $"{e.Key} -> {to} -> … -> {e.Key}")).ToList();
        Assert.True(cycles.Count == 0, $"folder cycles in Milvus.Domain:\n{string.Join("\n", cycles)}");
        Assert.True(routes.Count == 0, $"Milvus.Domain names an HTTP route in: {string.Join(", ", routes)}");
    }

    private static string Subsystem(string ns) => ns.Split('.') is { Length: > 2 } parts ? parts[2] : "(root)";

    private static bool Reaches(Dictionary<string, HashSet<string>> edges, string from, string target)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([from]);
        while (stack.TryPop(out var node))
        {
            if (node == target)
            {
                return true;
            }
            if (seen.Add(node) && edges.TryGetValue(node, out var next))
            {
                foreach (var to in next)
                {
                    stack.Push(to);
                }
            }
        }
        return false;
    }

    [GeneratedRegex(@"^namespace (Milvus\.Domain[\w.]*);", RegexOptions.Multiline)]
    private static partial Regex NamespaceRegex();

    [GeneratedRegex(@"^using (Milvus\.Domain[\w.]*);", RegexOptions.Multiline)]
    private static partial Regex UsingRegex();
}
