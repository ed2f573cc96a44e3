using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Architecture;

/// <summary>
/// A type of <c>Milvus.Domain</c> is public only when another project uses it (<c>docs/decisions.md</c>): Workers, Api,
/// the tests or the benchmarks reference it in their metadata, or name one of its constants (the compiler copies a
/// constant's value, so no reference to its type remains), or it is the base, an interface, a constraint, the
/// declaring type or a public property's type of a public type that is so used (as an options class's enum, which
/// the configuration binder sets by reflection). Everything else is <c>internal</c>.
/// </summary>
public sealed partial class DomainVisibilityTests
{
    private static readonly string[] OtherProjects = ["Milvus.Workers", "Milvus.Api", "Milvus.Tests", "Milvus.Benchmarks"];

    [Fact]
    public void EveryPublicDomainTypeIsUsedByAnotherProject()
    {
        var domain = typeof(Domain.IMilvusError).Assembly;
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in OtherProjects)
        {
            ReadDomainReferences(AssemblyPath(project), domain.GetName().Name!, referenced);
        }

        var exported = domain.GetExportedTypes();
        Assert.True(exported.Length > 100, $"only {exported.Length} public types were found in Milvus.Domain");
        Assert.True(referenced.Count > 100, $"only {referenced.Count} Milvus.Domain types are referenced by the other projects");

        var sources = new Lazy<string>(ReadOtherSources);
        var used = exported.Where(t => referenced.Contains(t.FullName!) || NamesAConstantOf(t, sources)).ToHashSet();
        var pending = new Queue<Type>(used);
        while (pending.TryDequeue(out var type))
        {
            foreach (var exposed in Exposes(type).Where(t => t.Assembly == domain && t.IsVisible && used.Add(t)))
            {
                pending.Enqueue(exposed);
            }
        }

        var unused = exported.Where(t => !used.Contains(t)).Select(t => t.FullName).Order(StringComparer.Ordinal).ToList();
        Assert.True(unused.Count == 0,
            $"public types of Milvus.Domain that no other project uses (make them internal):\n{string.Join("\n", unused)}");
    }

    /// <summary>The assembly of <paramref name="project"/>, built beside this one (same configuration and framework).</summary>
    private static string AssemblyPath(string project)
    {
        var output = Path.GetRelativePath(RepositoryFiles.PathOf("Milvus.Tests"), AppContext.BaseDirectory);
        var path = RepositoryFiles.PathOf(project, output, project + ".dll");
        Assert.True(File.Exists(path), $"{path} was not found: build Milvus.sln first");
        return path;
    }

    /// <summary>
    /// Adds the full name (<c>Outer+Inner</c> for a nested type) of every type of <paramref name="target"/> that the
    /// assembly at <paramref name="path"/> references (a nested type's declaring type is a reference of its own).
    /// </summary>
    private static void ReadDomainReferences(string path, string target, HashSet<string> names)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.TypeReferences)
        {
            if (Name(metadata, handle, target) is { } name)
            {
                names.Add(name);
            }
        }
    }

    private static string? Name(MetadataReader metadata, TypeReferenceHandle handle, string target)
    {
        var reference = metadata.GetTypeReference(handle);
        var name = metadata.GetString(reference.Name);
        switch (reference.ResolutionScope.Kind)
        {
            case HandleKind.TypeReference:
                return Name(metadata, (TypeReferenceHandle)reference.ResolutionScope, target) is { } declaring ? $"{declaring}+{name}" : null;
            case HandleKind.AssemblyReference:
                var assembly = metadata.GetAssemblyReference((AssemblyReferenceHandle)reference.ResolutionScope);
                return metadata.StringComparer.Equals(assembly.Name, target) ? $"{metadata.GetString(reference.Namespace)}.{name}" : null;
            default:
                return null;
        }
    }

    /// <summary>Whether another project's source names <c>Type.Constant</c> for one of the constants of <paramref name="type"/>.</summary>
    private static bool NamesAConstantOf(Type type, Lazy<string> sources)
    {
        var constants = type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(f => f.IsLiteral).Select(f => Regex.Escape(f.Name)).ToList();
        var name = type.Name.Split('`')[0];
        return constants.Count > 0
               && Regex.IsMatch(sources.Value, $@"\b{Regex.Escape(name)}\.(?:{string.Join("|", constants)})\b", RegexOptions.None, TimeSpan.FromSeconds(1));
    }

    /// <summary>The code of the other projects, without comment lines.</summary>
    private static string ReadOtherSources() => string.Join("\n", OtherProjects
        .SelectMany(p => Directory.EnumerateFiles(RepositoryFiles.PathOf(p), "*.cs", SearchOption.AllDirectories))
        .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
        .SelectMany(File.ReadLines)
        .Where(line => !CommentRegex().IsMatch(line)));

    /// <summary>
    /// The types that the public signature of <paramref name="type"/> itself exposes: base, interfaces, constraints,
    /// declaring type, and the types of its public properties.
    /// </summary>
    private static IEnumerable<Type> Exposes(Type type)
    {
        var direct = new List<Type?> { type.BaseType, type.DeclaringType };
        direct.AddRange(type.GetInterfaces());
        direct.AddRange(type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).Select(p => p.PropertyType));
        if (type.IsGenericTypeDefinition)
        {
            direct.AddRange(type.GetGenericArguments().SelectMany(a => a.GetGenericParameterConstraints()));
        }
        return direct.OfType<Type>().SelectMany(Flatten);
    }

    private static IEnumerable<Type> Flatten(Type type) =>
        type.HasElementType ? Flatten(type.GetElementType()!)
        : type.IsConstructedGenericType ? type.GenericTypeArguments.SelectMany(Flatten).Prepend(type.GetGenericTypeDefinition())
        : type.IsGenericParameter ? []
        : [type];

    [GeneratedRegex(@"^\s*(//|\*)")]
    private static partial Regex CommentRegex();
}
