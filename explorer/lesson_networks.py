"""The lesson's later pages (explorer.lesson): whole networks, the chapter's own and the families after it,
the layers between the convolutions, trained weights, and what the maps and pictures of a trained model
say. Each page's answer comes from explorer.lesson_answers."""
from __future__ import annotations

from explorer import lesson_answers as solve
from explorer.drawing.kernel_presets import CHAPTER_MATRIX
from explorer.lesson_page import Page, frozen, pair, rows

DIGIT = dict(model="digits", picture="digit-7")
YES_NO = frozen(yes=("yes", "y", "it passes", "passes", "pass", "是", "是的", "通过", "能"),
                no=("no", "n", "it fails", "fails", "fail", "does not", "doesn't", "否", "不是", "不通过",
                    "没通过", "没有通过", "未通过", "不能"))

ALEXNET = Page(
    key="alexnet", tab="architecture",
    title=pair("The chapter's CNNNet is AlexNet", "本章的 CNNNet 就是 AlexNet"),
    text=pair(
        "The chapter builds its own model by hand: a `features` chain of five convolutions with ReLU and "
        "three max pools (the first convolution 11x11 with stride 4), then `AdaptiveAvgPool2d((6, 6))`, a "
        "flatten to 256 × 6 × 6 = 9216 numbers, and a `classifier` chain of Dropout and three Linear layers "
        "that ends in `num_classes` outputs (2: fish or cat).\n\n"
        "That is AlexNet, the network that won ImageNet in 2012 with a top-5 error of 15.3% against the "
        "runner-up's 26.2%. It was trained on GPUs and made ReLU, Dropout and max pooling standard. The "
        "chapter says CNNNet equals `torchvision.models.alexnet(num_classes=2)`; Try it opens the check that "
        "proves it.\n\n"
        "Click its button: the app loads a fresh AlexNet's weights into CNNNet, demanding that every name "
        "and every shape match, then runs both on the same random pictures and compares their outputs.",
        "本章亲手搭了一个模型：`features` 链里是五个带 ReLU 的卷积和三个最大池化（第一个卷积是 11x11、步幅为 "
        "4），接着是 `AdaptiveAvgPool2d((6, 6))`，展平成 256 × 6 × 6 = 9216 个数，最后是 `classifier` 链："
        "Dropout 和三个全连接层，输出 `num_classes` 个数（2 个：鱼或猫）。\n\n"
        "这就是 AlexNet：2012 年 ImageNet 比赛的冠军，top-5 错误率 15.3%，第二名是 26.2%。它在 GPU 上训练，"
        "让 ReLU、Dropout 和最大池化成了标配。书上说 CNNNet 等同于 `torchvision.models.alexnet(num_classes=2)`；"
        "点“试一试”会打开证明这一点的检查。\n\n"
        "点检查里的按钮：应用把一个新建的 AlexNet 的权重装进 CNNNet，要求每个名字、每个形状都对得上，再让两个"
        "模型处理同样的随机图片，比较它们的输出。"),
    try_it=frozen(view="alexnet"),
    question=pair("How many tensors of AlexNet's state_dict does CNNNet take?",
                  "CNNNet 接收了 AlexNet 的 state_dict 里的多少个张量？"),
    hint=pair("Click the check's button and read how many tensors were loaded; or count the layers with "
              "weights (convolutions and Linear layers): each has a weight and a bias.",
              "点检查里的按钮，看装进了多少个张量；也可以数一数带权重的层（卷积层和全连接层）：每层都有一个权重和"
              "一个偏置。"),
    why=pair("Five convolutions and three Linear layers, a weight and a bias each: 8 × 2 = 16, and every name "
             "and shape fits.",
             "五个卷积层加三个全连接层，每层一个权重、一个偏置：8 × 2 = 16 个，名字和形状全都对得上。"),
    solve=solve.state_dict_tensors,
)

FAMILIES = Page(
    key="families", tab="architecture",
    title=pair("Deeper families: VGG, Inception, ResNet", "更深的网络家族：VGG、Inception、ResNet"),
    text=pair(
        "After AlexNet, networks went deeper in different ways. **VGG-16** (second in 2014, 8.8% top-5 "
        "error) stacks plain 3x3 convolutions: two of them see as far as one 5x5 and three as far as one "
        "7x7, with fewer weights (3 × 9 = 27 per pair of channels instead of 49) and a ReLU in between. Most "
        "of its 138 million parameters sit in the final fully connected layers.\n\n"
        "**GoogLeNet** (the 2014 winner, 6.67%, about 7 million parameters) stacks nine **Inception** "
        "modules. Each runs 1x1, 3x3 and 5x5 convolutions and a pooling side by side on the same input, "
        "with 1x1 \"bottleneck\" convolutions first to keep them cheap, and concatenates what they give "
        "along the channels. Try it opens its first module, `inception3a`.\n\n"
        "**ResNet** (2015; 4.49% for ResNet-152) adds each block's input to its output, so the signal and "
        "the gradient get through even very deep stacks. Pick `resnet18` and open block `layer2.0` to see "
        "the skip path with its 1x1 downsample; Compare sets them all side by side.",
        "AlexNet 之后，网络沿着不同的路子越变越深。**VGG-16**（2014 年第二名，top-5 错误率 8.8%）堆叠的是朴素"
        "的 3x3 卷积：两层 3x3 看到的范围和一层 5x5 一样，三层和一层 7x7 一样，但权重更少（每对通道 3 × 9 = "
        "27 个，而不是 49 个），中间还多了 ReLU。它的 1.38 亿个参数大多在最后的全连接层里。\n\n"
        "**GoogLeNet**（2014 年冠军，6.67%，约 700 万个参数）叠了九个 **Inception** 模块。每个模块在同一个输入"
        "上并排做 1x1、3x3、5x5 卷积和一次池化，先用 1x1 的“瓶颈”卷积压低计算量，再把各分支的结果沿通道拼接"
        "起来。点“试一试”会打开它的第一个模块 `inception3a`。\n\n"
        "**ResNet**（2015 年，ResNet-152 为 4.49%）把每个块的输入加到它的输出上（残差连接），信号和梯度因此能"
        "穿过很深的网络，不至于梯度消失。选 `resnet18`，打开 `layer2.0` 块，就能看到带 1x1 下采样的捷径；"
        "“比较模型”会把它们并排放在一起。"),
    try_it=frozen(view="inspect", model="googlenet", block="inception3a",
                  compare=("alexnet", "vgg16", "googlenet", "resnet18")),
    question=pair("How many channels leave the block inception3a?", "从 `inception3a` 这个块出来的有多少个通道？"),
    hint=pair("Find where the four branches meet (torch.cat) in the block's picture or in the table, or add "
              "up the channels of each branch's last layer.",
              "在块的示意图或表格里找到四个分支汇合的地方（torch.cat），或者把每个分支最后一层的通道数加起来。"),
    why=pair("Its branches give 64, 128, 32 and 32 channels, and torch.cat lays them side by side: 256.",
             "四个分支分别给出 64、128、32、32 个通道，torch.cat 把它们并排拼在一起：256 个。"),
    solve=lambda: solve.block_channels("googlenet", "inception3a"),
)

BATCHNORM_DROPOUT = Page(
    key="batchnorm-dropout", tab="architecture",
    title=pair("BatchNorm and Dropout on your matrix", "在你的矩阵上看批量归一化和 Dropout"),
    text=pair(
        "Two of the chapter's layers slide nothing. `nn.Dropout(p=0.5)` zeroes a random half of its input, "
        "but only in training mode (the values it keeps are scaled by 1/(1 − p), so the sum stays about the "
        "same); in eval mode it lets everything through. The network cannot lean on a few values, which "
        "works against overfitting.\n\n"
        "`nn.BatchNorm2d` keeps each channel centred while training: it subtracts the mini-batch's mean, "
        "divides by its standard deviation, then applies two learned parameters, a scale and a shift. In "
        "eval mode it uses the running averages it gathered during training instead.\n\n"
        "Try it runs them on the chapter's 4x4 matrix, taken as one channel of one picture, and shows each "
        "in training and in eval mode.",
        "本章有两个层什么也不滑动。`nn.Dropout(p=0.5)` 会把输入里随机的一半置零，但只在训练模式下这样做（留下"
        "的值乘以 1/(1 − p)，总和大致不变）；在评估模式下，它让所有值原样通过。这样网络就没法只依赖少数几个值，"
        "可以减轻过拟合。\n\n"
        "`nn.BatchNorm2d`（批量归一化）在训练时让每个通道保持居中：减去这一小批数据的均值，除以标准差，再用两个"
        "学出来的参数做缩放和平移。评估模式下，它改用训练中累积的滑动平均。\n\n"
        "点“试一试”会把它们用在本章那个 4x4 矩阵上（当作一张图的一个通道），分别显示训练模式和评估模式的结果。"),
    try_it=frozen(view="layers", matrix=rows(CHAPTER_MATRIX)),
    question=pair("What mean does BatchNorm2d subtract from this matrix in training mode?",
                  "训练模式下，BatchNorm2d 从这个矩阵里减去的均值是多少？"),
    hint=pair("Read the batch statistics written under BatchNorm's tables, or add up the sixteen numbers and "
              "divide by how many there are.",
              "看 BatchNorm 表格下面写的这批数据的统计量，或者把十六个数加起来，再除以个数。"),
    why=pair("The sixteen numbers add up to 930, and 930 / 16 = 58.125; after it is subtracted and the result "
             "divided by the spread, the output has mean 0 and variance 1.",
             "十六个数加起来是 930，930 / 16 = 58.125；减去它、再除以离散程度之后，输出的均值为 0，方差为 1。"),
    solve=lambda: solve.batch_mean(CHAPTER_MATRIX),
    tolerance=0.01,
)

PRETRAINED = Page(
    key="pretrained", tab="stages",
    title=pair("Pretrained against untrained", "预训练与未训练"),
    text=pair(
        "An architecture alone knows nothing: its weights start random. The chapter's CNNNet has no trained "
        "weights at all, so on the cat photo its two outputs, fish and cat, come out close to a coin toss, "
        "however plainly the photo shows a cat. Its stages are still real computations; their numbers just "
        "mean nothing yet.\n\n"
        "Training on more than a million labelled ImageNet photos is what makes a model useful, and nobody "
        "has to repeat it: torchvision hands out **pretrained** weights (`weights=...`), and the chapter "
        "starts from them. Reusing them for a task of your own, such as fish against cat, is **transfer "
        "learning**.\n\n"
        "After answering, switch the model to EfficientNet-Lite0, which is pretrained: the same photo gets a "
        "clear answer, a kind of cat.",
        "只有结构的网络什么也不懂：它的权重一开始是随机的。本章的 CNNNet 根本没有训练过的权重，所以看这张猫的"
        "照片时，它的两个输出（鱼和猫）几乎就是抛硬币，不管照片上的猫有多明显。它的各个阶段仍然是真实的计算，"
        "只是这些数还没有意义。\n\n"
        "让模型有用的，是在一百多万张带标签的 ImageNet 照片上的训练，而这一步不必重做：torchvision 提供**预训练**"
        "权重（`weights=...`），本章就从它们出发。把它们拿来做你自己的任务，比如区分鱼和猫，就是**迁移学习**。\n\n"
        "答完之后，把模型换成预训练过的 EfficientNet-Lite0：同一张照片会得到明确的答案——某一种猫。"),
    try_it=frozen(model="cnnnet", picture="cat"),
    question=pair("How sure is the untrained CNNNet of its top class? Give the percentage.",
                  "未训练的 CNNNet 对排第一的类别有多大把握？请给出百分比。"),
    hint=pair("Read the probability beside the top class in the predictions next to the picture.",
              "看图片旁边的预测结果里，排第一的类别旁边写的概率。"),
    why=pair("With random weights its two logits are nearly equal, so softmax gives each about half: a guess, "
             "not knowledge.",
             "权重是随机的，两个 logit 几乎相等，softmax 就给每一类差不多一半：这是瞎猜，不是知识。"),
    solve=lambda: solve.top_percent("cnnnet", "cat"),
    tolerance=1,
)

SALIENCY = Page(
    key="saliency", tab="saliency",
    title=pair("Which pixels mattered, and can you trust the map?", "哪些像素起了作用？这张图可信吗？"),
    text=pair(
        "A **saliency map** colours each pixel by how much it pushed the model towards a class. Grad-CAM, "
        "for one, weighs the last convolution's feature maps by their gradients for the class and lays the "
        "result over the picture.\n\n"
        "A map can look convincing and still explain little, so the tab checks each one. **Deletion** fills in "
        "the picture's patches from their surroundings in the map's order, most important first, and watches "
        "the class's probability fall: if it falls no faster than with random orders of the same patches, the map did "
        "not find what the model used. **Randomisation** scrambles the model's learned weights layer by "
        "layer: a map that hardly changes was never about what the model learned.\n\n"
        "Try it explains the digit model's answer for the drawn 7 with Grad-CAM. Then tick Saliency or "
        "Integrated Gradients as well and compare their checks: the digit model's last convolution is only "
        "10x10, so its Grad-CAM map is coarse.",
        "**显著图**按每个像素把模型推向某一类的力度来上色。比如 Grad-CAM：用这一类的梯度给最后一个卷积层的特征图"
        "加权，再把结果叠到图片上。\n\n"
        "一张图看起来很有说服力，却未必解释了什么，所以这个标签页会逐一检查。**删除检验**按图给出的顺序（最重要"
        "的在先）用周围的像素把图片的小块填掉，看这一类的概率降得多快：如果并不比按随机顺序删掉同样的小块更快，这张图就"
        "没有找到模型真正依赖的地方。**随机化检验**逐层打乱模型学到的权重：图若几乎不变，它说明的就从来不是模型"
        "学到的东西。\n\n"
        "点“试一试”会用 Grad-CAM 解释数字模型对画出来的 7 的判断。然后再勾上 Saliency 或积分梯度（Integrated "
        "Gradients），比较它们的检验结果：数字模型最后一个卷积层只有 10x10，它的 Grad-CAM 图很粗。"),
    try_it=frozen(DIGIT, method="gradcam"),
    question=pair("Does the Grad-CAM map pass the deletion check? Answer yes or no.",
                  "Grad-CAM 的图通过删除检验了吗？请回答“是”或“否”。"),
    hint=pair("Read the Deletion column of the trust table under the maps: does removing the map's top "
              "patches first lower the probability faster than random orders do?",
              "看图下方可信度表格里“删除”那一列：先删掉图里排在前面的小块，概率会比随机顺序降得更快吗？"),
    why=pair("Removing the patches Grad-CAM ranks first lowers the probability of 7 no faster than random "
             "orders do: its coarse 10x10 map does not single out the pixels the model relies on.",
             "先删掉 Grad-CAM 排在前面的小块，7 的概率并不比随机顺序降得更快：它那张 10x10 的粗图没有挑出模型"
             "真正依赖的像素。"),
    solve=lambda: solve.passes_deletion("digits", "digit-7", "gradcam"),
    form="choice", choices=YES_NO,
)

FEATURES = Page(
    key="features", tab="stages",
    title=pair("What does a channel look for?", "一个通道在找什么？"),
    text=pair(
        "A channel's feature map shows where it responded; to see what it responds to, the app can draw a "
        "picture for it. Starting from faint noise, it changes the picture step by step by gradient ascent "
        "to raise the channel's mean, on randomly shifted, scaled and turned copies so that the result does "
        "not rest on single pixels. The model's weights never change.\n\n"
        "Try it opens channel 5 of the digit model's `features.conv2` and draws its picture beside your 7. "
        "The digit model reads only 28x28 pixels, so its pictures look blocky.\n\n"
        "Next to the picture, the tab measures the same channel on both: the picture drawn for it, and "
        "your own digit.",
        "一个通道的特征图告诉你它在哪里有反应；想知道它对什么有反应，应用可以为它画一张图。从淡淡的噪声开始，用"
        "梯度上升一步步修改这张图，让这个通道的平均值变大；每一步都用随机平移、缩放和旋转过的副本，免得结果只靠"
        "个别像素。模型的权重始终不变。\n\n"
        "点“试一试”会打开数字模型 `features.conv2` 的通道 5，在你画的 7 旁边为它画一张图。数字模型只读 28x28 "
        "个像素，所以它的图看起来一块一块的。\n\n"
        "图的旁边，这个标签页会用同一个通道分别量一量两张图：为它画出来的那张，和你自己的数字。"),
    try_it=frozen(DIGIT, stage="features.conv2", channel=5, feature=True),
    question=pair("Which excites channel 5 more: the picture drawn for it, or your digit? Answer \"drawn\" or "
                  "\"yours\".",
                  "哪张图让通道 5 的反应更强：为它画出的图，还是你的数字？请回答“画出的图”或“你的数字”。"),
    hint=pair("Compare the two numbers written next to the picture: this picture's and yours.",
              "比较图旁边写的两个数：这张图的和你的。"),
    why=pair("Gradient ascent shaped the picture to raise exactly this channel's mean, so it beats a real 7, "
             "to which this channel hardly responds.",
             "梯度上升专门为提高这个通道的平均值来塑造这张图，所以它胜过真实的 7——这个通道对 7 几乎没有反应。"),
    solve=lambda: solve.feature_winner("digits", "digit-7", "features.conv2", 5),
    form="choice",
    choices=frozen(drawn=("drawn", "the drawn picture", "drawn picture", "the picture drawn for it", "generated",
                          "画出的图", "画出来的", "画出的", "生成的"),
                   yours=("yours", "your digit", "mine", "my digit", "my 7", "你的数字", "你的", "我的", "自己的")),
)

PAGES = (ALEXNET, FAMILIES, BATCHNORM_DROPOUT, PRETRAINED, SALIENCY, FEATURES)
